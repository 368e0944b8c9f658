"""The mutations' inputs and payloads, one module per subject, named like the subject's
resolvers (`resolvers.mutations.<subject>`): a mutation's `<Verb><Noun>Input` and
`<Verb><Noun>Payload` sit together, in the order the subject declares its mutations. `common`
holds the inputs several subjects share."""
