"""Model catalog, weight sources, local store and format converters."""
