using System.Text.Json.Nodes;

namespace MMEureka.Prm;

/// <summary>
/// What an annotation produced and what it cost: problems searched and kept, searches, rollouts, step labels with
/// their histogram (soft labels by value, hard labels as 0/1 counts) and rollouts per label.
/// </summary>
public sealed record AnnotationSummary(
    int Problems, int Kept, int Searches, long Rollouts, long ScreenRollouts, int Examples, int Positives, int Negatives,
    int Labels, int HardPositive, IReadOnlyList<(double value, int count)> Histogram, int FirstErrorsFound,
    double MeanEstimatesPerSearch, double MeanSearchedSteps, IReadOnlyDictionary<string, int> StopReasons)
{
    /// <summary>All rollouts (root screens included) per step label written.</summary>
    public double RolloutsPerLabel => Labels == 0 ? double.NaN : Rollouts / (double)Labels;

    /// <summary>Rollouts spent after the root screens per step label written.</summary>
    public double SearchRolloutsPerLabel => Labels == 0 ? double.NaN : (Rollouts - ScreenRollouts) / (double)Labels;

    /// <summary>Counts the trees and their training paths.</summary>
    public static AnnotationSummary From(IReadOnlyCollection<SearchTree> trees, IReadOnlyCollection<StepExample> examples)
    {
        var searches = trees.SelectMany(t => t.Searches).ToList();
        var labels = examples.SelectMany(e => e.Labels).ToList();
        return new AnnotationSummary(
            Problems: trees.Count,
            Kept: trees.Count(TrainingPaths.Kept),
            Searches: searches.Count,
            Rollouts: trees.Sum(t => (long)t.TotalRollouts),
            ScreenRollouts: trees.Sum(t => (long)t.Root.Rollouts),
            Examples: examples.Count,
            Positives: examples.Count(e => e.Labels[^1] > 0),
            Negatives: examples.Count(e => e.Labels[^1] <= 0),
            Labels: labels.Count,
            HardPositive: labels.Count(l => l > 0),
            Histogram: labels.GroupBy(l => Math.Round(l, 4)).OrderBy(g => g.Key).Select(g => (g.Key, g.Count())).ToList(),
            FirstErrorsFound: searches.Count(s => s.FirstError != null),
            MeanEstimatesPerSearch: searches.Count == 0 ? 0 : searches.Average(s => s.Estimates),
            MeanSearchedSteps: searches.Count == 0 ? 0 : searches.Average(s => s.RolloutSteps.Count),
            StopReasons: trees.GroupBy(t => t.StopReason).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count()));
    }

    /// <summary>The summary as JSON (summary.json).</summary>
    public JsonObject ToJson() => new()
    {
        ["problems"] = Problems, ["kept"] = Kept, ["searches"] = Searches, ["rollouts"] = Rollouts,
        ["screen_rollouts"] = ScreenRollouts, ["examples"] = Examples, ["positives"] = Positives, ["negatives"] = Negatives,
        ["labels"] = Labels, ["hard_positive"] = HardPositive, ["hard_negative"] = Labels - HardPositive,
        ["rollouts_per_label"] = Labels == 0 ? null : RolloutsPerLabel,
        ["search_rollouts_per_label"] = Labels == 0 ? null : SearchRolloutsPerLabel,
        ["first_errors_found"] = FirstErrorsFound, ["mean_estimates_per_search"] = MeanEstimatesPerSearch,
        ["mean_searched_steps"] = MeanSearchedSteps,
        ["label_histogram"] = new JsonArray(Histogram.Select(h => (JsonNode)new JsonObject { ["label"] = h.value, ["count"] = h.count }).ToArray()),
        ["stop_reasons"] = new JsonObject(StopReasons.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
    };

    /// <summary>A few lines for the console.</summary>
    public string Describe() =>
        $"problems {Problems}, kept {Kept} (0 < MC(root) < 1), searches {Searches}, rollouts {Rollouts:N0} ({ScreenRollouts:N0} in root screens)\n" +
        $"examples {Examples} ({Negatives} negative, {Positives} positive), step labels {Labels:N0} (hard: {HardPositive:N0} positive, {Labels - HardPositive:N0} zero)\n" +
        $"rollouts per label {RolloutsPerLabel:F2} (after the root screens {SearchRolloutsPerLabel:F2}); {FirstErrorsFound} first errors located, " +
        $"{MeanEstimatesPerSearch:F2} MC estimates per search over {MeanSearchedSteps:F2} steps\n" +
        "soft label histogram: " + string.Join("  ", Histogram.Select(h => $"{h.value:0.###}:{h.count}"));
}
