using System.Text.Json;
using System.Text.Json.Nodes;

namespace MMEureka.Prm;

/// <summary>
/// One rollout from a prefix: the continuation text, its steps (the thoughts after the prefix, then the answer when
/// it wrote one) and the verifier's verdict on the whole response. <see cref="Steps"/> is null when the
/// continuation cannot be cut on the prefix's step boundaries (it extended the prefix's last line).
/// </summary>
public sealed record Rollout(string Text, IReadOnlyList<string>? Steps, bool EndsWithAnswer, bool Correct)
{
    /// <summary>len(r) in Q: the continuation's length in policy tokens.</summary>
    public int Length => Data.Problem.TokenCount(Text);

    /// <summary>Cuts the continuation <paramref name="text"/> of a prefix holding <paramref name="prefixThoughts"/>
    /// into steps and judges the whole response (prefix + continuation) with the verifier.</summary>
    public static Rollout Parse(IReadOnlyList<string> prefixThoughts, string text, Func<string, bool> verify)
    {
        string full = new Solution(prefixThoughts, null).Prefix(prefixThoughts.Count) + text;
        var solution = Solution.Parse(full);
        bool aligned = solution.Thoughts.Count >= prefixThoughts.Count &&
                       solution.Thoughts.Take(prefixThoughts.Count).SequenceEqual(prefixThoughts);
        List<string>? steps = null;
        if (aligned)
        {
            steps = solution.Thoughts.Skip(prefixThoughts.Count).ToList();
            if (solution.Answer != null) steps.Add(solution.Answer);
        }
        return new Rollout(text, steps, aligned && solution.Answer != null, verify(full));
    }
}

/// <summary>How a tree node got its value.</summary>
public enum NodeKind
{
    /// <summary>The question alone; its MC value is the root screen.</summary>
    Root,
    /// <summary>A prefix made by the binary search, valued by k rollouts.</summary>
    Estimated,
    /// <summary>A correct rollout, a child of the prefix it continued, value 1 (MM-PRM's add_correct_rollout).</summary>
    CorrectRollout,
    /// <summary>The final answer step of a searched rollout, valued by the verifier without rollouts.</summary>
    Answer,
}

/// <summary>
/// A node of the search tree: the steps it adds to its parent's prefix (a node may hold several steps; the last one
/// is the final answer when <see cref="EndsWithAnswer"/>), its MC value, how often it was selected (N), the rollouts
/// spent estimating it and its wrong rollouts (the candidates it offers the pool).
/// </summary>
public sealed class SearchNode
{
    internal readonly List<int> Remaining = []; // indexes into WrongRollouts still in the pool or eligible for it

    /// <summary>Creates a node under <paramref name="parent"/> (null for the root).</summary>
    public SearchNode(int id, SearchNode? parent, IReadOnlyList<string> steps, bool endsWithAnswer, NodeKind kind, int search)
    {
        Id = id; Parent = parent; Steps = steps; EndsWithAnswer = endsWithAnswer; Kind = kind; Search = search;
        parent?.Children.Add(this);
    }

    /// <summary>Creation order within the tree (the root is 0).</summary>
    public int Id { get; }
    /// <summary>The node this one extends.</summary>
    public SearchNode? Parent { get; }
    /// <summary>The steps this node adds to its parent's prefix.</summary>
    public IReadOnlyList<string> Steps { get; }
    /// <summary>True when the last of <see cref="Steps"/> is the final answer.</summary>
    public bool EndsWithAnswer { get; }
    /// <summary>How the value was obtained.</summary>
    public NodeKind Kind { get; }
    /// <summary>The search that made the node (0: the root screen and the correct rollouts of the root).</summary>
    public int Search { get; }
    /// <summary>MC value: correct rollouts / rollouts, or 1 / 0 for a correct rollout or a judged answer.</summary>
    public double Mc { get; set; }
    /// <summary>N(s): how often the node was selected by a search.</summary>
    public int Visits { get; set; }
    /// <summary>Rollouts sampled from this node's prefix.</summary>
    public int Rollouts { get; set; }
    /// <summary>How many of them were correct.</summary>
    public int Correct { get; set; }
    /// <summary>Distinct wrong rollouts that could be searched (MM-PRM's incorrect_rollouts_backup).</summary>
    public List<Rollout> WrongRollouts { get; } = [];
    /// <summary>Child nodes in creation order.</summary>
    public List<SearchNode> Children { get; } = [];

    /// <summary>Every thought from the root to the end of this node (the answer excluded): the prefix a rollout from
    /// this node continues.</summary>
    public IReadOnlyList<string> Thoughts()
    {
        var chain = new List<SearchNode>();
        for (var n = this; n != null; n = n.Parent) chain.Add(n);
        chain.Reverse();
        var thoughts = new List<string>();
        foreach (var n in chain) thoughts.AddRange(n.EndsWithAnswer ? n.Steps.Take(n.Steps.Count - 1) : n.Steps);
        return thoughts;
    }

    /// <summary>The node and all below it, depth first in creation order.</summary>
    public IEnumerable<SearchNode> Descendants()
    {
        yield return this;
        foreach (var c in Children)
            foreach (var d in c.Descendants()) yield return d;
    }
}

/// <summary>One binary search: the state it selected, the wrong rollout searched, the MC estimates it made and the
/// first error it located (an index into the whole solution's steps, thoughts then answer; null when every prefix
/// kept a positive value, e.g. a rollout cut off before its answer).</summary>
public sealed record SearchRecord(int Number, int StateId, IReadOnlyList<string> RolloutSteps, bool EndsWithAnswer,
    IReadOnlyList<int> NodeIds, int Estimates, int Rollouts, int? FirstError);

/// <summary>The search tree of one problem, as written to <c>trees/&lt;problem_id&gt;.json</c>.</summary>
public sealed class SearchTree(string problemId, int problemIndex, SearchNode root)
{
    /// <summary>The problem's id.</summary>
    public string ProblemId { get; } = problemId;
    /// <summary>Index of the problem in the annotated list (part of every rollout seed).</summary>
    public int ProblemIndex { get; } = problemIndex;
    /// <summary>The question node.</summary>
    public SearchNode Root { get; } = root;
    /// <summary>The binary searches in order.</summary>
    public List<SearchRecord> Searches { get; } = [];
    /// <summary>All rollouts sampled for this problem (root screen included).</summary>
    public int TotalRollouts { get; set; }
    /// <summary>Why the search stopped: max_searches, rollout_budget or empty_pool.</summary>
    public string StopReason { get; set; } = "";

    /// <summary>Every node, depth first.</summary>
    public IEnumerable<SearchNode> Nodes => Root.Descendants();

    /// <summary>The tree as JSON.</summary>
    public JsonObject ToJson() => new()
    {
        ["problem_id"] = ProblemId,
        ["problem_index"] = ProblemIndex,
        ["total_rollouts"] = TotalRollouts,
        ["stop_reason"] = StopReason,
        ["searches"] = new JsonArray(Searches.Select(s => (JsonNode)new JsonObject
        {
            ["number"] = s.Number, ["state"] = s.StateId, ["rollout_steps"] = Strings(s.RolloutSteps),
            ["ends_with_answer"] = s.EndsWithAnswer, ["nodes"] = new JsonArray(s.NodeIds.Select(i => (JsonNode?)i).ToArray()),
            ["estimates"] = s.Estimates, ["rollouts"] = s.Rollouts, ["first_error"] = s.FirstError,
        }).ToArray()),
        ["root"] = NodeJson(Root),
    };

    private static JsonArray Strings(IEnumerable<string> s) => new(s.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray());

    private static JsonObject NodeJson(SearchNode n) => new()
    {
        ["id"] = n.Id,
        ["kind"] = n.Kind.ToString(),
        ["search"] = n.Search,
        ["steps"] = Strings(n.Steps),
        ["ends_with_answer"] = n.EndsWithAnswer,
        ["mc"] = n.Mc,
        ["visits"] = n.Visits,
        ["rollouts"] = n.Rollouts,
        ["correct"] = n.Correct,
        ["wrong_rollouts"] = new JsonArray(n.WrongRollouts.Select(r => (JsonNode)new JsonObject
        {
            ["text"] = r.Text, ["steps"] = r.Steps is null ? null : Strings(r.Steps), ["ends_with_answer"] = r.EndsWithAnswer,
        }).ToArray()),
        ["children"] = new JsonArray(n.Children.Select(c => (JsonNode)NodeJson(c)).ToArray()),
    };

    /// <summary>Reads a tree written by <see cref="ToJson"/>; errors name the file and the field.</summary>
    public static SearchTree Read(string path)
    {
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new FormatException("expected a JSON object");
            var root = ReadNode(o["root"] as JsonObject ?? throw new FormatException("field root is missing"), null);
            var tree = new SearchTree(Need(o, "problem_id").GetValue<string>(), Need(o, "problem_index").GetValue<int>(), root)
            {
                TotalRollouts = Need(o, "total_rollouts").GetValue<int>(),
                StopReason = o["stop_reason"]?.GetValue<string>() ?? "",
            };
            foreach (var s in (Need(o, "searches") as JsonArray)!)
                tree.Searches.Add(new SearchRecord(Need(s!, "number").GetValue<int>(), Need(s!, "state").GetValue<int>(),
                    ReadStrings(Need(s!, "rollout_steps")), Need(s!, "ends_with_answer").GetValue<bool>(),
                    (Need(s!, "nodes") as JsonArray)!.Select(i => i!.GetValue<int>()).ToList(),
                    Need(s!, "estimates").GetValue<int>(), Need(s!, "rollouts").GetValue<int>(), s!["first_error"]?.GetValue<int>()));
            return tree;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: not a search tree ({e.Message})", e);
        }
    }

    private static JsonNode Need(JsonNode o, string field) => o[field] ?? throw new FormatException($"field {field} is missing");

    private static List<string> ReadStrings(JsonNode a) => (a as JsonArray ?? throw new FormatException("expected an array of strings"))
        .Select(x => x!.GetValue<string>()).ToList();

    private static SearchNode ReadNode(JsonObject o, SearchNode? parent)
    {
        var node = new SearchNode(Need(o, "id").GetValue<int>(), parent, ReadStrings(Need(o, "steps")), Need(o, "ends_with_answer").GetValue<bool>(),
            Enum.Parse<NodeKind>(Need(o, "kind").GetValue<string>()), Need(o, "search").GetValue<int>())
        {
            Mc = Need(o, "mc").GetValue<double>(),
            Visits = Need(o, "visits").GetValue<int>(),
            Rollouts = Need(o, "rollouts").GetValue<int>(),
            Correct = Need(o, "correct").GetValue<int>(),
        };
        foreach (var r in (Need(o, "wrong_rollouts") as JsonArray)!)
            node.WrongRollouts.Add(new Rollout(Need(r!, "text").GetValue<string>(), r!["steps"] is { } s ? ReadStrings(s) : null,
                Need(r!, "ends_with_answer").GetValue<bool>(), false));
        foreach (var c in (Need(o, "children") as JsonArray)!) ReadNode((JsonObject)c!, node);
        return node;
    }

    /// <summary>Writes the tree through a temporary file and a rename.</summary>
    public void Write(string path) => Runs.RunFolder.WriteAtomically(path, ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
}
