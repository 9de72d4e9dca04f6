"""The bundled demo product: its event generator (`generate`), and a loader into a SQL database (`sql`)."""
