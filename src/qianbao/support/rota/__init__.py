"""Agents' shifts (the rota): who staffs the chat desk when, also outside the desk calendar."""
