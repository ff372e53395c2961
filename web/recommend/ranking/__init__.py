"""The recommender itself, pure: training and scoring over plain records.

Nothing here imports aiohttp or the database, so `bench/recsys` and the unit tests use it directly and the
web domain only turns rows into these records (`web.recommend.queries`) and back.
"""
