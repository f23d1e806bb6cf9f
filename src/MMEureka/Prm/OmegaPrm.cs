using MMEureka.Data;
using RuleRewards = MMEureka.Rewards.Rewards;

namespace MMEureka.Prm;

/// <summary>
/// OmegaPRM's search on one problem, as MM-PRM's released <c>omegaprm.py</c> runs it (PAPERS.md section 3):
/// screen the root with k rollouts; then, while searches, rollout budget and pool last, pop the (state, wrong rollout)
/// of highest Q + U, binary-search that rollout for its first error (each probe a new node valued by k rollouts, the
/// final answer judged by the verifier), count the selection in N(state) and re-score every remaining candidate.
/// Rollouts are requested through <c>complete</c>, which may batch the requests of many problems searched side by
/// side; the search itself is sequential and deterministic given the rollouts.
/// </summary>
public sealed class OmegaPrm
{
    private readonly Problem _problem;
    private readonly int _problemIndex;
    private readonly OmegaPrmConfig _config;
    private readonly Func<RolloutRequest, Task<IReadOnlyList<string>>> _complete;
    private readonly CandidatePool _pool = new();
    private int _nextId, _search, _rolloutInSearch, _totalVisits;
    private SearchTree _tree = null!;

    private OmegaPrm(Problem problem, int problemIndex, OmegaPrmConfig config, Func<RolloutRequest, Task<IReadOnlyList<string>>> complete)
    {
        _problem = problem; _problemIndex = problemIndex; _config = config; _complete = complete;
    }

    /// <summary>Searches one problem and returns its tree.</summary>
    public static Task<SearchTree> Run(Problem problem, int problemIndex, OmegaPrmConfig config,
        Func<RolloutRequest, Task<IReadOnlyList<string>>> complete) =>
        new OmegaPrm(problem, problemIndex, config, complete).Run();

    /// <summary>The verifier on a whole response (MM-PRM asks an LLM judge; MiniK12 answers are checkable).</summary>
    public static bool IsCorrect(Problem problem, string response) =>
        RuleRewards.Accuracy(response, problem.Answer, problem.AnswerType, problem.Choices) > 0;

    private async Task<SearchTree> Run()
    {
        var root = new SearchNode(_nextId++, null, [], false, NodeKind.Root, 0);
        _tree = new SearchTree(_problem.Id, _problemIndex, root);
        await Estimate(root); // the root screen: the tree is kept for training only when 0 < MC(root) < 1

        while (true)
        {
            // Budgets are checked between searches (a search in progress always finishes).
            if (_search >= _config.MaxSearches) { _tree.StopReason = "max_searches"; break; }
            if (_tree.TotalRollouts >= _config.RolloutBudget) { _tree.StopReason = "rollout_budget"; break; }
            if (!_pool.TryPop(out var state, out int r)) { _tree.StopReason = "empty_pool"; break; }
            _search++;
            _rolloutInSearch = 0;
            await BinarySearch(state, state.WrongRollouts[r]);
            // Maintenance: N(s) counts selections, then every remaining candidate of the tree is re-scored.
            state.Visits++;
            _totalVisits++;
            foreach (var node in _tree.Nodes) Score(node);
        }
        return _tree;
    }

    // Binary search for the first error of a wrong rollout from `state` (MM-PRM's binary_search_phase): the probe
    // holds steps left..mid; MC = 0 -> the error is in left..mid-1, searched under the same parent; MC > 0 -> it is
    // in mid+1..right, searched under the probe. The answer step alone is judged by the verifier, never estimated.
    private async Task BinarySearch(SearchNode state, Rollout rollout)
    {
        var steps = rollout.Steps!;
        int n = steps.Count, left = 0, right = n - 1, estimates = 0, before = _tree.TotalRollouts;
        int? firstError = null;
        var parent = state;
        var made = new List<int>();
        int offset = state.Thoughts().Count;
        while (left <= right)
        {
            int mid = (left + right) / 2;
            bool answerOnly = left == right && left == n - 1 && rollout.EndsWithAnswer;
            var probe = new SearchNode(_nextId++, parent, steps.Skip(left).Take(mid - left + 1).ToList(), answerOnly,
                answerOnly ? NodeKind.Answer : NodeKind.Estimated, _search);
            made.Add(probe.Id);
            if (answerOnly)
            {
                probe.Mc = rollout.Correct ? 1 : 0;
                if (probe.Mc == 0) firstError = offset + left;
                break;
            }
            await Estimate(probe);
            estimates++;
            if (probe.Mc == 0) { firstError = offset + mid; right = mid - 1; }
            else { parent = probe; left = mid + 1; }
        }
        _tree.Searches.Add(new SearchRecord(_search, state.Id, steps, rollout.EndsWithAnswer, made, estimates,
            _tree.TotalRollouts - before, firstError));
    }

    // MC(s) = correct / k from k rollouts of the node's prefix (MM-PRM's monte_carlo_estimation). Each distinct
    // correct rollout becomes a child worth 1; each distinct wrong one that can be cut into steps becomes a
    // candidate, entering the pool only when MC(s) > 0.
    private async Task Estimate(SearchNode node)
    {
        var thoughts = node.Thoughts();
        var seeds = Enumerable.Range(0, _config.K)
            .Select(_ => RolloutSeeds.For(_config.Seed, _problemIndex, _search, _rolloutInSearch++)).ToList();
        var texts = await _complete(new RolloutRequest(_problem, new Solution(thoughts, null).Prefix(thoughts.Count), seeds));
        _tree.TotalRollouts += texts.Count;
        node.Rollouts += texts.Count;
        var seenCorrect = new HashSet<string>();
        var seenWrong = new HashSet<string>(node.WrongRollouts.Select(w => w.Text));
        foreach (var text in texts)
        {
            var rollout = Rollout.Parse(thoughts, text, response => IsCorrect(_problem, response));
            if (rollout.Correct)
            {
                node.Correct++;
                if (rollout.Steps is { Count: > 0 } steps && seenCorrect.Add(text))
                    new SearchNode(_nextId++, node, steps, rollout.EndsWithAnswer, NodeKind.CorrectRollout, _search) { Mc = 1 };
            }
            else if (rollout.Steps is { Count: > 0 } && seenWrong.Add(text))
            {
                node.WrongRollouts.Add(rollout);
                node.Remaining.Add(node.WrongRollouts.Count - 1);
            }
        }
        node.Mc = node.Correct / (double)node.Rollouts;
        Score(node);
    }

    // Puts every remaining wrong rollout of a node with MC > 0 into the pool at its current Q + U.
    private void Score(SearchNode node)
    {
        if (node.Mc == 0 || node.Kind is NodeKind.CorrectRollout or NodeKind.Answer) return;
        double u = SelectionScore.U(node.Visits, _totalVisits, _config.CPuct);
        foreach (int r in node.Remaining)
            _pool.Update(node, r, SelectionScore.Q(node.Mc, node.WrongRollouts[r].Length, _config.Alpha, _config.Beta, _config.LengthScale) + u);
    }
}
