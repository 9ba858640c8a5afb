"""C# sources of the game templates; each preset's module lists its files as (path, content)."""
