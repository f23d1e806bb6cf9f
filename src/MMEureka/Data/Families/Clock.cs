using MMEureka.Rewards;

namespace MMEureka.Data.Families;

/// <summary>Elementary time: an analogue clock read as a decimal number of hours (quarter past 3 = 3.25).</summary>
internal static class Clock
{
    public static readonly FamilyInfo Info = new("clock", "measurement", "elementary",
        "hour shown", (1, 9), (10, 12), Generate);

    static Draft Generate(Rng rng, bool ood)
    {
        int hour = ood ? rng.Int(10, 12) : rng.Int(1, 9), minutes = 15 * rng.Int(0, 3);
        var fraction = new Rational(minutes, 60);
        var value = hour + fraction;
        int cx = 24 + rng.Int(-1, 1), cy = 24 + rng.Int(-1, 1);
        const int r = 20;
        var canvas = new Rasterizer();
        canvas.FillCircle(cx, cy, r, Palette.Light);
        canvas.Circle(cx, cy, r, Palette.Ink);
        for (int i = 0; i < 12; i++)
        {
            double a = i * Math.PI / 6;
            int inner = i % 3 == 0 ? r - 5 : r - 3;
            canvas.Line(cx + (int)Math.Round(inner * Math.Sin(a)), cy - (int)Math.Round(inner * Math.Cos(a)),
                cx + (int)Math.Round((r - 1) * Math.Sin(a)), cy - (int)Math.Round((r - 1) * Math.Cos(a)), Palette.Ink);
        }
        canvas.TextCentered(cx, cy - r + 6, "12", Palette.Ink);
        double hourAngle = (hour % 12 + minutes / 60.0) * Math.PI / 6, minuteAngle = minutes * Math.PI / 30;
        canvas.Line(cx, cy, cx + (int)Math.Round(16 * Math.Sin(minuteAngle)), cy - (int)Math.Round(16 * Math.Cos(minuteAngle)), Palette.Named[1].Color);
        canvas.ThickLine(cx, cy, cx + (int)Math.Round(10 * Math.Sin(hourAngle)), cy - (int)Math.Round(10 * Math.Cos(hourAngle)), Palette.Named[0].Color);
        canvas.FillCircle(cx, cy, 1, Palette.Ink);
        string part = Draft.Format(fraction, AnswerType.Decimal), answer = Draft.Format(value, AnswerType.Decimal);
        string[] steps =
        [
            minutes == 0 ? $"hour hand: at {hour}" : $"hour hand: past {hour}",
            $"minute hand at {(minutes == 0 ? 12 : minutes / 5)}: {minutes} min",
            $"{minutes}/60 = {part}",
            $"{hour} + {part} = {answer}",
        ];
        return new Draft("What time is it, in hours as a decimal?", value, AnswerType.Decimal, steps, canvas.ToImage(), [hour],
            new Rational(1, 4), ChoiceMin: 0, ChoiceMax: 13);
    }
}
