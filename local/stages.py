"""The demo's stages in order: a light module, so `mlstack --help` does not import the demo's dependencies."""

STAGES = ("embedded-aws", "ingest", "train", "deploy", "serve", "monitor")
