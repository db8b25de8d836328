"""feedsvc: per-topic arXiv feeds with summaries, key takeaways and translated abstracts."""
