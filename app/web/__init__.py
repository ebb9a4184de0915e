"""The dashboard: pages for planners, in English and French, served by the same app."""
