using System.Numerics;

namespace MMEureka.Rewards;

/// <summary>
/// An exact rational number in lowest terms with a positive denominator, so that 3/4, 0.75 and .750 compare equal
/// without floating-point surprises. Equality is structural because the representation is canonical.
/// </summary>
public readonly record struct Rational : IComparable<Rational>
{
    /// <summary>The numerator (carries the sign).</summary>
    public BigInteger Numerator { get; }

    /// <summary>The denominator, always positive.</summary>
    public BigInteger Denominator { get; }

    /// <summary>Creates numerator/denominator reduced to lowest terms; throws on a zero denominator.</summary>
    public Rational(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException("rational with denominator 0");
        if (denominator.Sign < 0) { numerator = -numerator; denominator = -denominator; }
        var g = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!g.IsOne && !g.IsZero) { numerator /= g; denominator /= g; }
        Numerator = numerator;
        Denominator = numerator.IsZero ? BigInteger.One : denominator;
    }

    /// <summary>An integer as a rational.</summary>
    public static implicit operator Rational(long value) => new(value, 1);

    /// <summary>True when the denominator is 1.</summary>
    public bool IsInteger => Denominator.IsOne;

    /// <summary>10^exponent for |exponent| up to a caller-enforced bound.</summary>
    public static Rational Pow10(int exponent) =>
        exponent >= 0 ? new(BigInteger.Pow(10, exponent), 1) : new(1, BigInteger.Pow(10, -exponent));

    public static Rational operator +(Rational a, Rational b) =>
        new(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static Rational operator -(Rational a, Rational b) =>
        new(a.Numerator * b.Denominator - b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static Rational operator -(Rational a) => new(-a.Numerator, a.Denominator);
    public static Rational operator *(Rational a, Rational b) =>
        new(a.Numerator * b.Numerator, a.Denominator * b.Denominator);
    /// <summary>Division; throws <see cref="DivideByZeroException"/> when b is 0.</summary>
    public static Rational operator /(Rational a, Rational b) =>
        new(a.Numerator * b.Denominator, a.Denominator * b.Numerator);

    /// <summary>Orders by value.</summary>
    public int CompareTo(Rational other) => (Numerator * other.Denominator).CompareTo(other.Numerator * Denominator);

    /// <summary>"3/4", "-2/3" or "5".</summary>
    public override string ToString() => IsInteger ? Numerator.ToString() : $"{Numerator}/{Denominator}";
}
