"""The room: Go Live, join tokens, End, the room page and the SFU mounted on the web app."""
