"""The Past tabs: ended sessions with what came after them (resources, feedback, attendance)."""
