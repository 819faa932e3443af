"""Models: embedders that turn text into vectors, and probes that turn vectors into probabilities."""

import os

# Drafts are confidential and the tool must never reach the network on its own. onnxruntime (1.2x+) ships a
# telemetry client that, at import, writes a device id under ~/.cache/Microsoft and looks up
# mobile.events.data.microsoft.com from native code, where no Python-level guard sees it; Hugging Face libraries
# report usage unless told not to. setdefault: a user who sets these variables keeps their choice.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
