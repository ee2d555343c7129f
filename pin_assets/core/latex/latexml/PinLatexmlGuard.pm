# Loaded into latexmlc with `perl -MPinLatexmlGuard` by pin_assets/core/latex/engines.py, before LaTeXML
# compiles its own modules, so that every module imports the two wrapped functions below.
#
# 1. A work budget. LaTeXML calls ProgressStep once per 30,000 tokens read (and per so many boxes digested,
#    nodes built, formulae parsed); counting those calls bounds the work of one conversion by a number that
#    does not depend on the machine or its load. LaTeXML 0.8.7's own tokenlimit misses loops that only
#    expand macros (\def\a{\b}\def\b{\a}), which this catches.
# 2. A file fence. FindFile is LaTeXML's one gate for \input, \include, \openin, \usepackage, \bibliography
#    and friends ("rely on FindFile to enforce any access restrictions", TeX.pool). A file it finds outside
#    the e-print's folder and the TeX and LaTeXML installation trees is refused, whether the path was
#    written out (\input{/etc/passwd}, \input{../../x}) or built by macros; URLs are refused too.
package PinLatexmlGuard;
use strict;
use warnings;
use Cwd qw(abs_path);
use LaTeXML::Common::Error;

our $BUDGET = $ENV{PIN_LATEXML_WORK_BUDGET} || 0;
our @ROOTS  = grep { $_ ne '' } map { my $r = abs_path($_); defined $r ? $r : '' }
  split(/:/, $ENV{PIN_LATEXML_ROOTS} || '');
our $STEPS = 0;

{
  no warnings 'redefine';
  my $progress_step = \&LaTeXML::Common::Error::ProgressStep;
  *LaTeXML::Common::Error::ProgressStep = sub {
    $STEPS++;
    if ($BUDGET && $STEPS > $BUDGET) {
      $BUDGET = 0;    # once: the fatal error's own cleanup must not trip it again
      Fatal('timeout', 'pin_work_budget', undef,
        "PIN work budget of $ENV{PIN_LATEXML_WORK_BUDGET} steps exceeded, infinite loop?"); }
    return $progress_step->(@_); };
}

require LaTeXML;    # the order latexmlc loads it in; LaTeXML::Package alone breaks its circular imports
push(@ROOTS, LaTeXML::Util::Pathname::pathname_installation());

sub inside_roots {
  my ($path) = @_;
  my $real = abs_path($path);
  return 0 unless defined $real;
  foreach my $root (@ROOTS) {
    return 1 if $real eq $root || index($real, $root . '/') == 0; }
  return 0; }

{
  no warnings 'redefine';
  my $find_file = \&LaTeXML::Package::FindFile;
  *LaTeXML::Package::FindFile = sub {
    my ($file, %options) = @_;
    my $found = $find_file->($file, %options);
    return $found unless defined $found;
    return $found if defined LaTeXML::Package::LookupValue($found . '_contents');    # written by \openout
    if (LaTeXML::Util::Pathname::pathname_is_literaldata($found)) {
      return $found if index(LaTeXML::Util::Pathname::pathname_protocol($found), 'literal') == 0; }
    if (LaTeXML::Util::Pathname::pathname_is_url($found) || !inside_roots($found)) {
      Warn('unsafe', 'pin_outside_folder', undef,
        "Refused to read '" . LaTeXML::Common::Object::ToString($file) . "': outside the e-print's folder");
      return; }
    return $found; };
}

# The work a conversion took, for the caller's records and benchmarks (stderr's last line).
END { print STDERR "PIN work steps: $STEPS\n"; }

1;
