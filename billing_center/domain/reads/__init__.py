"""The read side's queries: batch reads by key, pages of children per parent and the root
subscription list, as fixed statements the loaders and resolvers call."""
