// The notebook runner redirects the console and changes the working directory and environment (process-wide), so
// the tests in this assembly run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
