"""How a person sees the numbers: the CLI, the Streamlit app, figures and review packs."""
