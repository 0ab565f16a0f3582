"""Headless staffing and rostering: Erlang C/A, the production calendar, the labour-code
rule set, its checker and the CP-SAT roster generator.

Imports no web or UI framework: the backend runs it, the tests drive it directly.
"""
