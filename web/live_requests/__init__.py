"""Live requests: a learner asks a mentor for a session; the mentor accepts or declines."""
