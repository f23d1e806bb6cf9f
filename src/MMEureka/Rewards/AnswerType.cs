namespace MMEureka.Rewards;

/// <summary>How a gold answer is written and compared.</summary>
public enum AnswerType
{
    /// <summary>A whole number, possibly negative ("12", "-3").</summary>
    Integer,
    /// <summary>A fraction in lowest terms, or an integer when the denominator is 1 ("3/4", "-2/3", "2").</summary>
    Fraction,
    /// <summary>A terminating decimal ("3.75", "0.5", "4").</summary>
    Decimal,
    /// <summary>A letter A-D naming one of four options.</summary>
    MultipleChoice,
}

/// <summary>The snake_case names used in the dataset's JSON and on the command line.</summary>
public static class AnswerTypeNames
{
    /// <summary>"integer", "fraction", "decimal" or "multiple_choice".</summary>
    public static string ToName(this AnswerType type) => type switch
    {
        AnswerType.Integer => "integer",
        AnswerType.Fraction => "fraction",
        AnswerType.Decimal => "decimal",
        _ => "multiple_choice",
    };

    /// <summary>Parses a name written by <see cref="ToName"/>; false for anything else.</summary>
    public static bool TryParse(string? name, out AnswerType type)
    {
        (bool ok, type) = name switch
        {
            "integer" => (true, AnswerType.Integer),
            "fraction" => (true, AnswerType.Fraction),
            "decimal" => (true, AnswerType.Decimal),
            "multiple_choice" => (true, AnswerType.MultipleChoice),
            _ => (false, AnswerType.Integer),
        };
        return ok;
    }
}
