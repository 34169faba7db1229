"""Setting homework: the assignment `library`, the `planner` (suggestions, load, save, reschedule,
cancel) and the `takehome` files (calendar and handout).

May import `analytics.store` and `analytics.metrics` (suggestions are ranked on a client's figures).
"""
