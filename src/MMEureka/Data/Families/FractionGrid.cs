using MMEureka.Rewards;

namespace MMEureka.Data.Families;

/// <summary>Elementary fractions: the shaded fraction of a rows x columns grid, in lowest terms.</summary>
internal static class FractionGrid
{
    public static readonly FamilyInfo Info = new("fraction_grid", "fractions", "elementary",
        "number of grid cells (rows and columns 2-4 vs 5-6)", (4, 16), (25, 36), Generate);

    static Draft Generate(Rng rng, bool ood)
    {
        int rows = ood ? rng.Int(5, 6) : rng.Int(2, 4), cols = ood ? rng.Int(5, 6) : rng.Int(2, 4);
        int n = rows * cols, k = rng.Int(1, n - 1);
        var shaded = new HashSet<int>(rng.Sample(n, k));
        var color = rng.Pick(Palette.Named).Color;
        int cell = Math.Min(40 / cols, 40 / rows);
        int x0 = (48 - cell * cols) / 2 + rng.Int(-1, 1), y0 = (48 - cell * rows) / 2 + rng.Int(-1, 1);
        var canvas = new Rasterizer();
        for (int i = 0; i < n; i++)
            if (shaded.Contains(i)) canvas.FillRect(x0 + (i % cols) * cell, y0 + (i / cols) * cell, cell, cell, color);
        for (int r = 0; r <= rows; r++) canvas.Line(x0, y0 + r * cell, x0 + cols * cell, y0 + r * cell, Palette.Ink);
        for (int c = 0; c <= cols; c++) canvas.Line(x0 + c * cell, y0, x0 + c * cell, y0 + rows * cell, Palette.Ink);
        var value = new Rational(k, n);
        string raw = $"{k}/{n}";
        return new Draft("What fraction of the grid is shaded?", value, AnswerType.Fraction,
            [$"shaded: {k}", $"total: {rows} x {cols} = {n}", value.ToString() == raw ? $"fraction: {raw}" : $"{raw} = {value}"],
            canvas.ToImage(), [n], new Rational(1, n), ChoiceMin: 0, ChoiceMax: 1);
    }
}
