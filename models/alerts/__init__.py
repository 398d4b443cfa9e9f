"""Trade alerts: re-screening on reference changes, their messages, partner alerts."""
