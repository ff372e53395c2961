"""Request helpers every domain uses: who is signed in, reading a JSON body, checking fields."""
