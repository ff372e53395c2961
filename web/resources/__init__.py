"""Upload Resources: files a mentor shares with a session's booked learners once it is live or over."""
