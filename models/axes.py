"""The names of the three scored axes, in a module light enough for any face to import."""

SAFETY, CAPABILITIES, HAZARD = "safety", "capabilities", "hazard"
