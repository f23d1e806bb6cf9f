using MMEureka.Data;

namespace MMEureka.Prm;

/// <summary>A request for rollouts: one continuation of <paramref name="Prefix"/> (a response prefix such as
/// <see cref="Solution.Prefix"/> gives) per seed in <paramref name="Seeds"/>.</summary>
public sealed record RolloutRequest(Problem Problem, string Prefix, IReadOnlyList<long> Seeds);

/// <summary>
/// The policy as the annotator sees it: continuations of response prefixes. The real one samples MiniVlm
/// (<see cref="VlmRolloutPolicy"/>); tests script one whose completions are right with known probabilities.
/// Requests come in batches so that rollouts of many prefixes and problems share one sampling call.
/// </summary>
public interface IRolloutPolicy
{
    /// <summary>For each request, one continuation text per seed (the text after the prefix, without it).</summary>
    IReadOnlyList<IReadOnlyList<string>> Complete(IReadOnlyList<RolloutRequest> requests);
}
