"""Participants: citizens, their addresses and when each address is active."""
