using MMEureka.Rewards;

namespace MMEureka.Data.Families;

/// <summary>High-school probability: the chance of drawing a ball of one colour from the balls shown.</summary>
internal static class Probability
{
    public static readonly FamilyInfo Info = new("probability", "probability", "high",
        "number of balls", (3, 8), (9, 14), Generate);

    static Draft Generate(Rng rng, bool ood)
    {
        int n = ood ? rng.Int(9, 14) : rng.Int(3, 8);
        int k = rng.Int(1, n - 1), others = n - k;
        bool three = others >= 2 && rng.Next(2) == 0;
        var colors = rng.Sample(Palette.Named.Length, three ? 3 : 2).Select(i => Palette.Named[i]).ToArray();
        int second = three ? rng.Int(1, others - 1) : others;
        int[] counts = three ? [k, second, others - second] : [k, others];
        var items = new List<(ShapeKind, Rgb)>();
        for (int c = 0; c < counts.Length; c++) items.AddRange(Enumerable.Repeat((ShapeKind.Circle, colors[c].Color), counts[c]));
        var canvas = new Rasterizer();
        Scatter.Draw(canvas, rng, Scatter.Shuffled(rng, items));
        var value = new Rational(k, n);
        string raw = $"{k}/{n}";
        return new Draft($"Pick a ball at random. What is P({colors[0].Name})?", value, AnswerType.Fraction,
            [$"{colors[0].Name}: {k}", $"all: {string.Join(" + ", counts)} = {n}", value.ToString() == raw ? $"P = {raw}" : $"P = {raw} = {value}"],
            canvas.ToImage(), [n], new Rational(1, n), ChoiceMin: 0, ChoiceMax: 1);
    }
}
