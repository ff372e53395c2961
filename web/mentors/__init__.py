"""A mentor's public page (`/mentors/{id}`): profile, ratings and comments, upcoming sessions."""
