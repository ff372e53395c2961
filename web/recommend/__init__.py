"""Recommended sessions: the learned ranking, its signals, training and the tab it serves (issue 15)."""
