"""Bookings: seats taken and released atomically, the one confirm(), and the seam paid bookings plug into."""
