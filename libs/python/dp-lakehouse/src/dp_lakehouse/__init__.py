"""The lakehouse as every engine sees it: catalog and object-store properties from the settings, once."""
