"""Reference tables (entity lists, Xinjiang places, ILAB goods, HS) and their matchers."""
