using MMEureka.Rewards;

namespace MMEureka.Data.Families;

/// <summary>Elementary counting: how many circles (any colour), or how many red shapes (any kind), among distractors.</summary>
internal static class CountShapes
{
    public static readonly FamilyInfo Info = new("count_shapes", "counting", "elementary",
        "number of target objects", (1, 6), (7, 9), Generate);

    static Draft Generate(Rng rng, bool ood)
    {
        int n = ood ? rng.Int(7, 9) : rng.Int(1, 6);
        var colors = rng.Sample(Palette.Named.Length, 2);
        var kinds = rng.Sample(3, 2).Select(k => (ShapeKind)k).ToArray();
        var (c0, c1) = (Palette.Named[colors[0]], Palette.Named[colors[1]]);
        int a = rng.Int(0, n), b = n - a, distractors = rng.Int(1, 4);
        bool byKind = rng.Next(2) == 0;
        var items = new List<(ShapeKind, Rgb)>();
        string question;
        string[] steps;
        if (byKind)
        {
            // Target: one kind in two colours; distractors: the other kind.
            items.AddRange(Enumerable.Repeat((kinds[0], c0.Color), a));
            items.AddRange(Enumerable.Repeat((kinds[0], c1.Color), b));
            for (int i = 0; i < distractors; i++) items.Add((kinds[1], rng.Next(2) == 0 ? c0.Color : c1.Color));
            question = $"How many {Scatter.Plural(kinds[0])} are there?";
            steps = [$"{c0.Name} {Scatter.Plural(kinds[0])}: {a}", $"{c1.Name} {Scatter.Plural(kinds[0])}: {b}", $"{a} + {b} = {n}"];
        }
        else
        {
            // Target: one colour in two kinds; distractors: the other colour.
            items.AddRange(Enumerable.Repeat((kinds[0], c0.Color), a));
            items.AddRange(Enumerable.Repeat((kinds[1], c0.Color), b));
            for (int i = 0; i < distractors; i++) items.Add((kinds[rng.Next(2)], c1.Color));
            question = $"How many {c0.Name} shapes are there?";
            steps = [$"{c0.Name} {Scatter.Plural(kinds[0])}: {a}", $"{c0.Name} {Scatter.Plural(kinds[1])}: {b}", $"{a} + {b} = {n}"];
        }
        var canvas = new Rasterizer();
        Scatter.Draw(canvas, rng, Scatter.Shuffled(rng, items));
        return new Draft(question, n, AnswerType.Integer, steps, canvas.ToImage(), [n], 1, ChoiceMin: 0,
            Variant: byKind ? "kind" : "colour");
    }
}
