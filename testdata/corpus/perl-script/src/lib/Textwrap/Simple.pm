package Textwrap::Simple;
use strict;
use warnings;
use Exporter 'import';
our @EXPORT_OK = qw(wrap_words);

sub wrap_words {
    my ($text, $width) = @_;
    my ($line, $out) = ('', '');
    for my $w (split ' ', $text) {
        if (length($line) && length($line) + 1 + length($w) > $width) {
            $out .= "$line\n";
            $line = $w;
        } else {
            $line = length($line) ? "$line $w" : $w;
        }
    }
    return $out . (length($line) ? "$line\n" : '');
}
1;
