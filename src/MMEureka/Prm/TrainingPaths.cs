using MMEureka.Data;

namespace MMEureka.Prm;

/// <summary>
/// Turns a search tree into PRM training paths, as MM-PRM's <c>traverse.py</c> does (PAPERS.md section 3): only
/// questions whose root MC is strictly between 0 and 1; depth first from the root, one path per branch; a path ends
/// as a negative at the first node with MC = 0 and as a positive at a leaf with MC &gt; 0; very short paths dropped;
/// duplicates dropped; at most as many positives as negatives per question (a random subset, seeded), so a question
/// without a negative contributes nothing.
/// <para>
/// MM-PRM puts one label at the end of each node, and a node may hold several steps. Our <see cref="StepExample"/>
/// has one label per step, so a step inside a node takes the MC measured for exactly its prefix anywhere in the tree
/// when there is one (the binary search measures most of them: after a probe with MC = 0 it probes shorter prefixes
/// of the same rollout), else the value of the node holding it when that is above 0 (the prefix was continued
/// correctly, so its true MC is above 0 too). A step inside a node with MC = 0 and never measured on its own cannot be
/// labelled: the path is cut before it and kept only when a zero already ended it.
/// </para>
/// </summary>
public static class TrainingPaths
{
    /// <summary>True when MM-PRM keeps the question: 0 &lt; MC(root) &lt; 1.</summary>
    public static bool Kept(SearchTree tree) => tree.Root.Mc > 0 && tree.Root.Mc < 1;

    /// <summary>The labelled paths of one tree: negatives first, then the kept positives.</summary>
    public static IReadOnlyList<StepExample> FromTree(SearchTree tree, OmegaPrmConfig config)
    {
        if (!Kept(tree)) return [];
        var measured = new Dictionary<string, double>();
        foreach (var node in tree.Nodes)
            if (node.Kind != NodeKind.Root) measured.TryAdd(Key(node.Thoughts(), node.EndsWithAnswer ? node.Steps[^1] : null), node.Mc);

        var positives = new List<StepExample>();
        var negatives = new List<StepExample>();
        var chain = new List<SearchNode>();
        void Walk(SearchNode node)
        {
            chain.Add(node);
            if (node.Mc <= 0 || node.Children.Count == 0)
            {
                if (Label(tree.ProblemId, chain, measured) is { } example && Text(example).Length >= config.MinPathChars)
                    (example.Labels[^1] > 0 ? positives : negatives).Add(example);
            }
            else
                foreach (var child in node.Children) Walk(child);
            chain.RemoveAt(chain.Count - 1);
        }
        foreach (var child in tree.Root.Children) Walk(child);

        negatives = Distinct(negatives);
        positives = Distinct(positives);
        if (positives.Count > negatives.Count)
        {
            // MM-PRM: random.sample(positive, len(negative)); seeded per question, kept in tree order.
            var rng = Rng.For((ulong)config.Seed, Split.Train, tree.ProblemIndex, attempt: 0x5052);
            var order = Enumerable.Range(0, positives.Count).ToArray();
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = rng.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            positives = order.Take(negatives.Count).Order().Select(i => positives[i]).ToList();
        }
        return [.. negatives, .. positives];
    }

    // Per-step labels along one root-to-end chain of nodes; null when a step cannot be labelled before any zero.
    private static StepExample? Label(string problemId, List<SearchNode> chain, Dictionary<string, double> measured)
    {
        var steps = new List<string>();
        var labels = new List<double>();
        foreach (var node in chain)
        {
            for (int i = 0; i < node.Steps.Count; i++)
            {
                bool isAnswer = node.EndsWithAnswer && i == node.Steps.Count - 1;
                double label;
                if (i == node.Steps.Count - 1) label = node.Mc; // the node's own value: MM-PRM's label
                else if (measured.TryGetValue(Key(steps.Append(node.Steps[i]).ToList(), null), out var m)) label = m;
                else if (node.Mc > 0) label = node.Mc;
                else return null;
                labels.Add(label);
                if (isAnswer) return new StepExample(problemId, steps, node.Steps[i], labels);
                steps.Add(node.Steps[i]);
                if (label <= 0) return new StepExample(problemId, steps, null, labels); // the first zero ends the path
            }
        }
        return new StepExample(problemId, steps, null, labels);
    }

    private static string Key(IReadOnlyList<string> thoughts, string? answer) =>
        string.Join('\n', thoughts) + (answer is null ? "" : "\u0001" + answer);

    private static string Text(StepExample e) => string.Concat(e.Steps) + (e.Answer ?? "");

    private static List<StepExample> Distinct(List<StepExample> examples)
    {
        var seen = new HashSet<string>();
        return examples.Where(e => seen.Add(Key(e.Steps, e.Answer))).ToList(); // MM-PRM dedupes on the text, first kept
    }
}
