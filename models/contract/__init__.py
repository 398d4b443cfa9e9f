"""The data contract: its one declaration, the reader that enforces it, column mappings."""
