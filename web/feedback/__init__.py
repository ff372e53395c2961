"""Rate Your Mentor: one rating and comment per learner and ended session, editable for 7 days."""
