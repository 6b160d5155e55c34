"""The answer engine: normalising, language, matching, decisions; the FAQ loaded and checked."""
