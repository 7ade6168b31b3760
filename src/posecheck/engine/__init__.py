"""The pure exercise engine: poses -> measures -> phases/reps/holds -> cues. numpy only."""
