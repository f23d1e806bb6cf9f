using MMEureka.Data;
using MMEureka.Prm;
using MMEureka.Rewards;

namespace MMEureka.Tests.Prm;

/// <summary>
/// A policy whose completions are right with known probabilities. Its gold solution has thoughts g0..g(n-1) and the
/// answer 7; the scripted mistake replaces thought <see cref="ErrorStep"/> by a wrong one (or, when ErrorStep = n,
/// writes the answer 8 after a gold reasoning). From a prefix that contains the mistake no completion is right
/// (MC = 0); from a gold prefix of at most ErrorStep thoughts a completion is right with probability
/// <see cref="P"/>, else it makes the mistake; a gold prefix past the mistake's place always ends right.
/// </summary>
internal sealed class ScriptedPolicy(int thoughts, int errorStep, double p) : IRolloutPolicy
{
    public int Thoughts { get; } = thoughts;
    public int ErrorStep { get; } = errorStep;
    public double P { get; } = p;
    public int Calls { get; private set; }
    public int LargestBatch { get; private set; }

    public string Gold(int i) => $"g{i}: {i} + 1 = {i + 1}";
    public const string Wrong = "oops: 2 + 2 = 5";

    public static Problem MakeProblem(string id) =>
        new(id, "arithmetic", "scripted", "elementary", "What is it?", "7", AnswerType.Integer, null, ["a", "b"], "none.png");

    /// <summary>The whole wrong solution the policy writes from the empty prefix.</summary>
    public IReadOnlyList<string> WrongSolution =>
        Enumerable.Range(0, Thoughts).Select(i => i == ErrorStep ? Wrong : Gold(i)).ToList();

    public IReadOnlyList<IReadOnlyList<string>> Complete(IReadOnlyList<RolloutRequest> requests)
    {
        Calls++;
        LargestBatch = Math.Max(LargestBatch, requests.Sum(r => r.Seeds.Count));
        return requests.Select(r => (IReadOnlyList<string>)r.Seeds.Select(seed => Continue(r.Prefix, seed)).ToList()).ToList();
    }

    private string Continue(string prefix, long seed)
    {
        var have = Solution.Parse(prefix).Thoughts;
        // A prefix the policy could not have written means the search built it from the wrong steps.
        for (int i = 0; i < have.Count; i++)
            if (have[i] != Gold(i) && !(i == ErrorStep && have[i] == Wrong))
                throw new InvalidOperationException($"prefix step {i} is '{have[i]}': not a prefix of any solution of this policy");
        bool right;
        if (have.Contains(Wrong)) right = false;
        else if (have.Count > ErrorStep) right = true;
        else right = new Rng((ulong)seed).NextDouble() < P;
        var rest = Enumerable.Range(have.Count, Thoughts - have.Count)
            .Select(i => !right && i == ErrorStep ? Wrong : Gold(i));
        return (have.Count > 0 ? "\n" : "") + string.Join('\n', rest) + $"</think><answer>{(right ? "7" : "8")}</answer>";
    }
}
