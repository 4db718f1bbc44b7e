{#- Every Bronze customer row, cleaned, with its fate: valid, superseded or quarantined (the rules:
    macros/classification.sql). A table, so each row is classified once per run: the Silver table, its
    quarantine and their tests all read it. -#}
{{ classified_customers() }}
