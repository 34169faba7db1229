"""The numbers: adherence, the caseload, mood, outcome measures, needs-attention rules, effectiveness
by type, shrunk client profiles, small statistics, and one client's record (with the feedback write).

May import `analytics.store`; nothing else of the project.
"""
