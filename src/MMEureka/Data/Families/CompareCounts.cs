using MMEureka.Rewards;

namespace MMEureka.Data.Families;

/// <summary>Elementary comparison: how many more of one shape than another (colours are random and irrelevant).</summary>
internal static class CompareCounts
{
    public static readonly FamilyInfo Info = new("compare_counts", "arithmetic", "elementary",
        "count of the larger group", (2, 6), (7, 10), Generate);

    static Draft Generate(Rng rng, bool ood)
    {
        int more = ood ? rng.Int(7, 10) : rng.Int(2, 6);
        int fewer = rng.Int(1, more - 1);
        var kinds = rng.Sample(3, 2).Select(k => (ShapeKind)k).ToArray();
        var items = new List<(ShapeKind, Rgb)>();
        for (int i = 0; i < more; i++) items.Add((kinds[0], rng.Pick(Palette.Named).Color));
        for (int i = 0; i < fewer; i++) items.Add((kinds[1], rng.Pick(Palette.Named).Color));
        var canvas = new Rasterizer();
        Scatter.Draw(canvas, rng, Scatter.Shuffled(rng, items));
        string p0 = Scatter.Plural(kinds[0]), p1 = Scatter.Plural(kinds[1]);
        int d = more - fewer;
        return new Draft($"How many more {p0} than {p1} are there?", d, AnswerType.Integer,
            [$"{p0}: {more}", $"{p1}: {fewer}", $"{more} - {fewer} = {d}"], canvas.ToImage(), [more], 1, ChoiceMin: 0);
    }
}
