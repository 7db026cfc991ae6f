--
-- tag_rules: every rule of the tagging specification's tag constraints, on
-- submit and on update, each refused with SQLSTATE 22023 and a message
-- naming the key and the rule; the limit of 20 applies to the merged tags
-- of an update.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER w_rules FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-w-rules', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER w_rules
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA w_rules;
IMPORT FOREIGN SCHEMA oq FROM SERVER w_rules INTO w_rules;

CREATE FUNCTION submit_error(tags text) RETURNS text LANGUAGE sql
AS $$ SELECT regress_error(format('SELECT oq_submit(%L, %L, tags => %L)', 'w_rules', 'rules', tags)) $$;

-- tags must be an object
SELECT submit_error('[]');
SELECT submit_error('["customer", "acme"]');
SELECT submit_error('"customer=acme"');
SELECT submit_error('42');
SELECT submit_error('null');
SELECT submit_error('true');

-- values must be strings, named by key
SELECT submit_error('{"customer": 42}');
SELECT submit_error('{"customer": null}');
SELECT submit_error('{"customer": false}');
SELECT submit_error('{"customer": {"name": "acme"}}');
SELECT submit_error('{"customer": ["acme"]}');

-- keys: 1-64 characters of a-z 0-9 - _
SELECT submit_error('{"": "x"}');
SELECT submit_error(format('{"%s": "x"}', repeat('k', 65)));
SELECT submit_error('{"Customer": "x"}');
SELECT submit_error('{"cust omer": "x"}');
SELECT submit_error('{"a/b": "x"}');
SELECT submit_error('{"a.b": "x"}');
SELECT submit_error('{"café": "x"}');

-- reserved prefixes (oq- is not one)
SELECT submit_error('{"oq_priority": "x"}');
SELECT submit_error('{"_internal": "x"}');

-- values: at most 256 characters (not bytes), no line breaks
SELECT submit_error(format('{"note": "%s"}', repeat('v', 257)));
SELECT submit_error(format('{"note": "%s"}', repeat('😀', 257)));
SELECT submit_error('{"note": "two\nlines"}');
SELECT submit_error('{"note": "carriage\rreturn"}');

-- at most 20 tags
SELECT submit_error((SELECT jsonb_object_agg('k' || i, 'v')::text FROM generate_series(1, 21) i));

-- the limits themselves are fine, and read back exactly
SELECT oq_submit('w_rules', 'edges', tags => jsonb_build_object(
         repeat('k', 64), 'x',
         'oq-not-reserved', 'x',
         'note', repeat('v', 256),
         'emoji', repeat('😀', 256),
         'tab', E'a\tb',
         'empty', '',
         'k-_0', 'x')) AS edge_id \gset
SELECT tags->>'emoji' = repeat('😀', 256) AS emoji_ok, tags->>'note' = repeat('v', 256) AS note_ok,
       tags->>'tab' = E'a\tb' AS tab_ok, tags->>'empty' = '' AS empty_ok,
       (SELECT count(*) FROM jsonb_object_keys(tags)) AS ntags
FROM w_rules.tasks WHERE id = :'edge_id';
SELECT oq_submit('w_rules', 'twenty',
                 tags => (SELECT jsonb_object_agg('k' || i, 'v') FROM generate_series(1, 20) i))
       IS NOT NULL AS twenty_ok;

-- updates follow the same rules
SELECT oq_submit('w_rules', 'merge',
                 tags => (SELECT jsonb_object_agg('k' || i, 'v') FROM generate_series(1, 18) i))
       AS merge_id \gset
CREATE FUNCTION update_error(id uuid, tags text) RETURNS text LANGUAGE sql
AS $$ SELECT regress_error(format('SELECT oq_update_tags(%L, %L, %L)', 'w_rules', id, tags)) $$;
SELECT update_error(:'merge_id', '[]');
SELECT update_error(:'merge_id', '{"k1": 1}');
SELECT update_error(:'merge_id', '{"oq_x": "y"}');
SELECT update_error(:'merge_id', '{"Bad": "y"}');
SELECT update_error(:'merge_id', '{"k1": "a\nb"}');

-- the limit of 20 counts the merged tags: 18 + 3 new is too many (also
-- when other keys only change); 18 + 2 new is fine, and so is changing
-- values then
SELECT update_error(:'merge_id', '{"n1": "x", "n2": "x", "n3": "x"}');
SELECT update_error(:'merge_id', '{"n1": "x", "n2": "x", "k1": "y", "n3": "x"}');
SELECT (SELECT count(*) FROM jsonb_object_keys(
          oq_update_tags('w_rules', :'merge_id', '{"n1": "x", "n2": "x", "k1": "changed"}'))) AS ntags;
SELECT (SELECT count(*) FROM jsonb_object_keys(
          oq_update_tags('w_rules', :'merge_id', '{"k2": "changed", "n1": "again"}'))) AS ntags;
SELECT update_error(:'merge_id', '{"n3": "x"}');
SELECT tags->>'k1' AS k1, tags->>'k2' AS k2, tags->>'n1' AS n1,
       (SELECT count(*) FROM jsonb_object_keys(tags)) AS ntags
FROM w_rules.tasks WHERE id = :'merge_id';

-- removing: absent keys are no error, keys are not judged, NULL is refused
SELECT oq_remove_tags('w_rules', :'merge_id', ARRAY['k1', 'not-there', 'Bad Key', '']) ? 'k1' AS still_k1;
SELECT regress_error(format('SELECT oq_remove_tags(%L, %L, ARRAY[%L, NULL])', 'w_rules', :'merge_id', 'k2'));
SELECT oq_remove_tags('w_rules', :'merge_id', '{}') ? 'k2' AS k2_kept;

-- nothing invalid got stored
SELECT task_type, (SELECT count(*) FROM jsonb_object_keys(tags)) AS ntags
FROM w_rules.tasks ORDER BY task_type;

DROP FUNCTION submit_error(text);
DROP FUNCTION update_error(uuid, text);
