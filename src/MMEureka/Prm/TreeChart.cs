using MMEureka.Display;
using Plotly.NET;
using CS = Plotly.NET.CSharp;

namespace MMEureka.Prm;

/// <summary>
/// A search tree as a chart: nodes placed by depth (steps from the question, downwards) and leaf order, grouped by
/// MC value (one trace per band, so the legend reads as a colour scale), edges in grey and the probes of one binary
/// search joined by their own line. Hovering a node shows its steps and numbers.
/// </summary>
public static class TreeChart
{
    private static readonly (string name, Func<SearchNode, bool> test)[] Bands =
    [
        ("MC = 0 (wrong from here)", n => n.Mc == 0),
        ("0 < MC < 0.5", n => n.Mc > 0 && n.Mc < 0.5),
        ("0.5 <= MC < 1", n => n.Mc >= 0.5 && n.Mc < 1),
        ("MC = 1", n => n.Mc == 1),
    ];

    /// <summary>Draws <paramref name="tree"/>, marking the probes of search <paramref name="search"/> (1-based; 0: none).</summary>
    public static GenericChart Draw(SearchTree tree, int search = 1)
    {
        var x = new Dictionary<SearchNode, double>();
        var y = new Dictionary<SearchNode, double>();
        double nextLeaf = 0;
        double Place(SearchNode node, int depth)
        {
            y[node] = -depth;
            double pos = node.Children.Count == 0 ? nextLeaf++ : node.Children.Select(c => Place(c, depth + c.Steps.Count)).Average();
            x[node] = pos;
            return pos;
        }
        Place(tree.Root, 0);

        // One short trace per edge: plotly's NaN gaps would not survive JSON.
        var grey = Color.fromString("#bbbbbb");
        var traces = new List<GenericChart>();
        foreach (var node in tree.Nodes)
            foreach (var child in node.Children)
                traces.Add(CS.Chart.Line<double, double, string>([x[node], x[child]], [y[node], y[child]], ShowLegend: false, LineColor: grey));

        if (tree.Searches.FirstOrDefault(s => s.Number == search) is { } record)
        {
            var state = tree.Nodes.First(n => n.Id == record.StateId);
            var probes = tree.Nodes.Where(n => record.NodeIds.Contains(n.Id)).ToList();
            string name = $"binary search {search} (from node {state.Id}, first error at step {record.FirstError?.ToString() ?? "none"})";
            var black = Color.fromString("#222222");
            for (int i = 0; i < probes.Count; i++)
                traces.Add(CS.Chart.Line<double, double, string>([x[probes[i].Parent!], x[probes[i]]], [y[probes[i].Parent!], y[probes[i]]],
                    Name: name, ShowLegend: i == 0, LineColor: black, LineWidth: 3));
        }
        foreach (var (name, test) in Bands)
        {
            var nodes = tree.Nodes.Where(test).ToList();
            if (nodes.Count == 0) continue;
            traces.Add(CS.Chart.Point<double, double, string>(nodes.Select(n => x[n]).ToArray(), nodes.Select(n => y[n]).ToArray(),
                Name: name, ShowLegend: true, MultiText: nodes.Select(Hover).ToArray()));
        }
        return Charts.Combine($"Search tree of {tree.ProblemId}: MC(root) {tree.Root.Mc:0.###}, {tree.Searches.Count} searches, {tree.TotalRollouts} rollouts",
            [.. traces]).WithAxes(yTitle: "steps from the question");
    }

    private static string Hover(SearchNode n) =>
        $"node {n.Id} ({n.Kind}, search {n.Search}): MC {n.Mc:0.###}, N {n.Visits}, {n.Rollouts} rollouts<br>" +
        string.Join("<br>", n.Steps.Select((s, i) => n.EndsWithAnswer && i == n.Steps.Count - 1 ? $"answer: {s}" : s));
}
