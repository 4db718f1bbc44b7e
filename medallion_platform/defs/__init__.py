"""Asset definitions, one module per layer of the lineage graph."""
