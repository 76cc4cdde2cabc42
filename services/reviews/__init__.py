"""Reviewing and scoring submissions: claims, rubric scores, feedback, decisions."""
