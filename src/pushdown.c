/*-------------------------------------------------------------------------
 *
 * pushdown.c
 *		Plan-time recognition of the clauses oq_fdw evaluates itself.
 *
 * A clause is "pushed down" when the wrapper can decide it on the raw task
 * object, before a tuple is built: tag predicates on the column reading the
 * task's "tags" (->> equality and IN, ?, ?&, ?|, @>, IS NOT NULL), id
 * equality, and status/task_type equality.  The value side may be anything
 * that is constant for one scan: constants, parameters, stable
 * expressions, and (in parameterized paths) values of outer relations.
 * Pushed clauses are removed from the local quals, so their evaluation
 * here must agree with PostgreSQL's exactly; where it could not (a
 * nondeterministic collation, a volatile value), the clause stays local.
 *
 * Recognised tag predicates can also choose how the scan finds tasks: by
 * listing the tag index instead of every task, and id equalities by GETting
 * the tasks directly.  Those choices are costed in oq_fdw.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "optimizer/restrictinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "option.h"
#include "pushdown.h"
#include "strlist.h"
#include "tags.h"

bool
oq_jsonb_string_pairs(Jsonb *jb, List **keys, List **values)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		ok = true;
	char	   *key = NULL;

	*keys = *values = NIL;
	if (!JB_ROOT_IS_OBJECT(jb))
		return false;

	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			if (v.type != jbvString)
				ok = false;
			else
			{
				*keys = lappend(*keys, key);
				*values = lappend(*values, pnstrdup(v.val.string.val, v.val.string.len));
			}
		}
	}
	return ok;
}

void
oq_column_roles(Oid relid, Relation rel, OqColumnRoles *roles)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			i;

	memset(roles, 0, sizeof(*roles));
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		char	   *field;

		if (att->attisdropped)
			continue;
		field = oq_column_field(relid, att->attnum);
		if (strcmp(field, "tags") == 0 && att->atttypid == JSONBOID)
			roles->tags = att->attnum;
		else if (strcmp(field, "id") == 0 && att->atttypid == UUIDOID)
			roles->id = att->attnum;
		else if (strcmp(field, "status") == 0 && att->atttypid == TEXTOID)
			roles->status = att->attnum;
		else if (strcmp(field, "task_type") == 0 && att->atttypid == TEXTOID)
			roles->task_type = att->attnum;
	}
}

static Expr *
strip_relabel(Expr *expr)
{
	while (expr && IsA(expr, RelabelType))
		expr = ((RelabelType *) expr)->arg;
	return expr;
}

/* A Var of the scanned relation's column attno */
static bool
is_column(Expr *expr, RelOptInfo *baserel, AttrNumber attno)
{
	Var		   *var;

	expr = strip_relabel(expr);
	if (attno == 0 || expr == NULL || !IsA(expr, Var))
		return false;
	var = (Var *) expr;
	return var->varno == (int) baserel->relid && var->varattno == attno &&
		var->varlevelsup == 0;
}

/* Two-argument function call of funcid, as an operator or a function */
static bool
is_call(Expr *expr, Oid funcid, Expr **arg1, Expr **arg2)
{
	List	   *args;

	expr = strip_relabel(expr);
	if (expr == NULL)
		return false;
	if (IsA(expr, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) expr;

		set_opfuncid(op);
		if (op->opfuncid != funcid)
			return false;
		args = op->args;
	}
	else if (IsA(expr, FuncExpr))
	{
		FuncExpr   *func = (FuncExpr *) expr;

		if (func->funcid != funcid || func->funcvariadic)
			return false;
		args = func->args;
	}
	else
		return false;

	if (list_length(args) != 2)
		return false;
	*arg1 = linitial(args);
	*arg2 = lsecond(args);
	return true;
}

/* tags->>'key' with a constant key: returns the key, else NULL */
static char *
match_tag_field(Expr *expr, RelOptInfo *baserel, const OqColumnRoles *roles)
{
	Expr	   *col;
	Expr	   *key;
	Const	   *c;

	if (!is_call(expr, F_JSONB_OBJECT_FIELD_TEXT, &col, &key) ||
		!is_column(col, baserel, roles->tags))
		return NULL;
	key = strip_relabel(key);
	if (!IsA(key, Const))
		return NULL;
	c = (Const *) key;
	if (c->constisnull || c->consttype != TEXTOID)
		return NULL;
	return TextDatumGetCString(c->constvalue);
}

/*
 * The value side: anything constant during one scan that does not refer to
 * the scanned relation.  Values of other relations become executor
 * parameters in a parameterized path (or via LATERAL).
 */
static bool
is_scan_constant(PlannerInfo *root, Expr *expr, RelOptInfo *baserel)
{
	Relids		varnos;

	if (contain_volatile_functions((Node *) expr) ||
		contain_subplans((Node *) expr) ||
		contain_agg_clause((Node *) expr) ||
		contain_window_function((Node *) expr))
		return false;
	varnos = pull_varnos(root, (Node *) expr);
	return !bms_is_member(baserel->relid, varnos);
}

/* texteq is byte equality only under a deterministic collation */
static bool
byte_equality_collation(Oid collid)
{
	return OidIsValid(collid) && get_collation_isdeterministic(collid);
}

static OqQual *
make_qual(OqQualKind kind, char *key, Expr *arg, RestrictInfo *rinfo)
{
	OqQual	   *qual = palloc0(sizeof(OqQual));

	qual->kind = kind;
	qual->key = key;
	qual->arg = arg;
	qual->rinfo = rinfo;
	return qual;
}

static OqQual *
recognize_opexpr(PlannerInfo *root, RelOptInfo *baserel,
				 const OqColumnRoles *roles, OpExpr *op, RestrictInfo *rinfo)
{
	Expr	   *left;
	Expr	   *right;
	int			side;

	if (list_length(op->args) != 2)
		return NULL;
	set_opfuncid(op);

	/* Try both orders: 'v' = tags->>'k' is as good as tags->>'k' = 'v' */
	for (side = 0; side < 2; side++)
	{
		char	   *key;

		left = side == 0 ? linitial(op->args) : lsecond(op->args);
		right = side == 0 ? lsecond(op->args) : linitial(op->args);
		if (!is_scan_constant(root, right, baserel))
			continue;

		switch (op->opfuncid)
		{
			case F_TEXTEQ:
				if (!byte_equality_collation(op->inputcollid))
					return NULL;
				if ((key = match_tag_field(left, baserel, roles)) != NULL)
					return make_qual(OQ_QUAL_TAG_EQ, key, right, rinfo);
				if (is_column(left, baserel, roles->status))
					return make_qual(OQ_QUAL_STATUS_EQ, NULL, right, rinfo);
				if (is_column(left, baserel, roles->task_type))
					return make_qual(OQ_QUAL_TASK_TYPE_EQ, NULL, right, rinfo);
				break;
			case F_UUID_EQ:
				if (is_column(left, baserel, roles->id))
					return make_qual(OQ_QUAL_ID_EQ, NULL, right, rinfo);
				break;
			case F_JSONB_EXISTS:
			case F_JSONB_EXISTS_ALL:
			case F_JSONB_EXISTS_ANY:
			case F_JSONB_CONTAINS:
				/* not commutative: the column must be on the left */
				if (side != 0 || !is_column(left, baserel, roles->tags))
					break;
				if (op->opfuncid == F_JSONB_EXISTS)
				{
					Expr	   *k = strip_relabel(right);

					if (IsA(k, Const) && !((Const *) k)->constisnull)
						return make_qual(OQ_QUAL_TAG_EXISTS,
										 TextDatumGetCString(((Const *) k)->constvalue),
										 NULL, rinfo);
					return make_qual(OQ_QUAL_TAG_EXISTS, NULL, right, rinfo);
				}
				if (op->opfuncid == F_JSONB_EXISTS_ALL)
					return make_qual(OQ_QUAL_TAG_EXISTS_ALL, NULL, right, rinfo);
				if (op->opfuncid == F_JSONB_EXISTS_ANY)
					return make_qual(OQ_QUAL_TAG_EXISTS_ANY, NULL, right, rinfo);
				return make_qual(OQ_QUAL_TAG_CONTAINS, NULL, right, rinfo);
			default:
				return NULL;
		}
	}
	return NULL;
}

static OqQual *
recognize_saop(PlannerInfo *root, RelOptInfo *baserel,
			   const OqColumnRoles *roles, ScalarArrayOpExpr *saop,
			   RestrictInfo *rinfo)
{
	Expr	   *left;
	Expr	   *array;
	char	   *key;

	if (!saop->useOr || list_length(saop->args) != 2)
		return NULL;
	set_sa_opfuncid(saop);
	left = linitial(saop->args);
	array = lsecond(saop->args);
	if (!is_scan_constant(root, array, baserel))
		return NULL;

	if (saop->opfuncid == F_TEXTEQ && byte_equality_collation(saop->inputcollid) &&
		(key = match_tag_field(left, baserel, roles)) != NULL)
		return make_qual(OQ_QUAL_TAG_IN, key, array, rinfo);
	if (saop->opfuncid == F_UUID_EQ && is_column(left, baserel, roles->id))
		return make_qual(OQ_QUAL_ID_IN, NULL, array, rinfo);
	return NULL;
}

OqQual *
oq_recognize_clause(PlannerInfo *root, RelOptInfo *baserel,
					const OqColumnRoles *roles, RestrictInfo *rinfo)
{
	Expr	   *clause = rinfo->clause;

	if (rinfo->pseudoconstant)
		return NULL;

	if (IsA(clause, OpExpr))
		return recognize_opexpr(root, baserel, roles, (OpExpr *) clause, rinfo);
	if (IsA(clause, ScalarArrayOpExpr))
		return recognize_saop(root, baserel, roles, (ScalarArrayOpExpr *) clause,
							  rinfo);
	if (IsA(clause, NullTest))
	{
		NullTest   *nt = (NullTest *) clause;
		char	   *key;

		/* ->> is NULL when the key is absent or its value a JSON null */
		if (nt->nulltesttype == IS_NOT_NULL && !nt->argisrow &&
			(key = match_tag_field(nt->arg, baserel, roles)) != NULL)
			return make_qual(OQ_QUAL_TAG_NOT_NULL, key, NULL, rinfo);
	}
	return NULL;
}

/* The qual's value when it is a non-null constant, else NULL */
static Const *
qual_const(const OqQual *qual)
{
	Expr	   *arg = qual->arg ? strip_relabel(qual->arg) : NULL;

	if (arg && IsA(arg, Const) && !((Const *) arg)->constisnull)
		return (Const *) arg;
	return NULL;
}

/* The string pairs of a constant @> whose keys the index can hold */
static void
indexable_pairs(Const *c, List **keys, List **values)
{
	List	   *k;
	List	   *v;
	ListCell   *lk;
	ListCell   *lv;

	*keys = *values = NIL;
	(void) oq_jsonb_string_pairs(DatumGetJsonbP(c->constvalue), &k, &v);
	forboth(lk, k, lv, v)
	{
		if (oq_tag_key_indexable(lfirst(lk)))
		{
			*keys = lappend(*keys, lfirst(lk));
			*values = lappend(*values, lfirst(lv));
		}
	}
}

bool
oq_qual_is_index_usable(const OqQual *qual)
{
	Const	   *c = qual_const(qual);
	ListCell   *lc;
	List	   *keys;
	List	   *values;

	switch (qual->kind)
	{
		case OQ_QUAL_TAG_EQ:
			if (qual->key == NULL || !oq_tag_key_indexable(qual->key))
				return false;
			return c == NULL ||
				!oq_tag_text_maybe_nonstring(TextDatumGetCString(c->constvalue));
		case OQ_QUAL_TAG_IN:
			if (qual->key == NULL || !oq_tag_key_indexable(qual->key))
				return false;
			if (c != NULL)
			{
				foreach(lc, oq_text_array_strings(DatumGetArrayTypeP(c->constvalue)))
				{
					if (oq_tag_text_maybe_nonstring(lfirst(lc)))
						return false;
				}
			}
			return true;
		case OQ_QUAL_TAG_CONTAINS:
			if (c == NULL)
				return true;
			indexable_pairs(c, &keys, &values);
			return keys != NIL;

			/*
			 * A key whose value is not a string has no entry, yet makes
			 * these true: only reading every task answers them exactly.
			 */
		case OQ_QUAL_TAG_EXISTS:
		case OQ_QUAL_TAG_NOT_NULL:
		case OQ_QUAL_TAG_EXISTS_ALL:
		case OQ_QUAL_TAG_EXISTS_ANY:
		default:
			return false;
	}
}

bool
oq_qual_is_id_lookup(const OqQual *qual)
{
	return qual->kind == OQ_QUAL_ID_EQ || qual->kind == OQ_QUAL_ID_IN;
}

OqAccessKind
oq_best_access(List *quals, bool tag_index)
{
	ListCell   *lc;
	bool		have_index = false;

	foreach(lc, quals)
	{
		OqQual	   *qual = (OqQual *) lfirst(lc);

		if (oq_qual_is_id_lookup(qual))
			return OQ_ACCESS_IDS;
		if (oq_qual_is_index_usable(qual))
			have_index = true;
	}
	return (have_index && tag_index) ? OQ_ACCESS_INDEX : OQ_ACCESS_FULL;
}

/*
 * Append one qual's index prefixes, known values spelled out ("|": listed
 * together; "&": each alone would do).  Returns how many alternatives the
 * qual offers the scan to choose from.
 */
static int
describe_prefixes(StringInfo buf, const OqQual *qual)
{
	Const	   *c = qual_const(qual);
	List	   *keys = NIL;
	List	   *values = NIL;
	ListCell   *lk;
	ListCell   *lv;
	int			shown = 0;

	switch (qual->kind)
	{
		case OQ_QUAL_TAG_EQ:
			if (c)
				appendStringInfoString(buf, oq_tag_index_value_prefix(qual->key,
																	  TextDatumGetCString(c->constvalue)));
			else
				appendStringInfo(buf, "tags/%s/$value/", qual->key);
			return 1;
		case OQ_QUAL_TAG_EXISTS:
			if (qual->key)
				appendStringInfoString(buf, oq_tag_index_key_prefix(qual->key));
			else
				appendStringInfoString(buf, "tags/$key/");
			return 1;
		case OQ_QUAL_TAG_IN:
		case OQ_QUAL_TAG_EXISTS_ALL:
		case OQ_QUAL_TAG_EXISTS_ANY:
			if (c == NULL)
			{
				appendStringInfoString(buf, qual->kind == OQ_QUAL_TAG_IN ?
									   psprintf("tags/%s/$values/", qual->key) :
									   "tags/$keys/");
				return 1;
			}
			values = oq_text_array_strings(DatumGetArrayTypeP(c->constvalue));
			break;
		case OQ_QUAL_TAG_CONTAINS:
			if (c == NULL)
			{
				appendStringInfoString(buf, "tags/$pairs/");
				return 1;
			}
			indexable_pairs(c, &keys, &values);
			break;
		default:
			return 0;
	}

	lk = list_head(keys);
	foreach(lv, values)
	{
		const char *v = (const char *) lfirst(lv);

		if (shown == 3)
		{
			appendStringInfo(buf, " and %d more", list_length(values) - shown);
			break;
		}
		if (shown++ > 0)
			appendStringInfoString(buf, qual->kind == OQ_QUAL_TAG_EXISTS_ALL ||
								   qual->kind == OQ_QUAL_TAG_CONTAINS ? " & " : " | ");
		if (qual->kind == OQ_QUAL_TAG_IN)
			appendStringInfoString(buf, oq_tag_index_value_prefix(qual->key, v));
		else if (qual->kind == OQ_QUAL_TAG_CONTAINS)
			appendStringInfoString(buf, oq_tag_index_value_prefix((const char *) lfirst(lk), v));
		else
			appendStringInfoString(buf, oq_tag_index_key_prefix(v));
		if (lk)
			lk = lnext(keys, lk);
	}
	if (shown == 0)
		appendStringInfoString(buf, "(no prefix: matches nothing)");
	if (qual->kind == OQ_QUAL_TAG_EXISTS_ALL || qual->kind == OQ_QUAL_TAG_CONTAINS)
		return list_length(values);
	return 1;
}

char *
oq_describe_access(OqAccessKind access, List *quals)
{
	StringInfoData buf;
	ListCell   *lc;
	int			n = 0;

	initStringInfo(&buf);
	switch (access)
	{
		case OQ_ACCESS_FULL:
			appendStringInfoString(&buf, "full listing of tasks/");
			break;
		case OQ_ACCESS_IDS:
			appendStringInfoString(&buf, "id lookup");
			break;
		case OQ_ACCESS_INDEX:
			{
				StringInfoData prefixes;

				initStringInfo(&prefixes);
				foreach(lc, quals)
				{
					OqQual	   *qual = (OqQual *) lfirst(lc);

					if (!oq_qual_is_index_usable(qual))
						continue;
					if (prefixes.len > 0)
						appendStringInfoString(&prefixes, ", ");
					n += describe_prefixes(&prefixes, qual);
				}
				appendStringInfo(&buf, "tag index%s %s",
								 n > 1 ? ", most selective of" : "", prefixes.data);
			}
			break;
	}
	return buf.data;
}

/*
 * Equivalence classes hold most join equalities (t.tags->>'k' = c.name is
 * mergejoinable); this callback picks the members the wrapper can look up
 * by.
 */
typedef struct EcMatchContext
{
	const OqColumnRoles *roles;
} EcMatchContext;

static bool
ec_member_is_lookup_key(PlannerInfo *root, RelOptInfo *rel,
						EquivalenceClass *ec, EquivalenceMember *em, void *arg)
{
	EcMatchContext *cxt = (EcMatchContext *) arg;
	char	   *key = match_tag_field(em->em_expr, rel, cxt->roles);

	/* only keys the index can hold make cheap lookups */
	return (key != NULL && oq_tag_key_indexable(key)) ||
		is_column(em->em_expr, rel, cxt->roles->id);
}

List *
oq_join_lookup_clauses(PlannerInfo *root, RelOptInfo *baserel,
					   const OqColumnRoles *roles)
{
	List	   *result = NIL;
	ListCell   *lc;
	EcMatchContext cxt;

	foreach(lc, baserel->joininfo)
	{
		RestrictInfo *rinfo = (RestrictInfo *) lfirst(lc);
		OqQual	   *qual;

		if (!join_clause_is_movable_to(rinfo, baserel))
			continue;
		qual = oq_recognize_clause(root, baserel, roles, rinfo);
		if (qual && (oq_qual_is_id_lookup(qual) ||
					 ((qual->kind == OQ_QUAL_TAG_EQ || qual->kind == OQ_QUAL_TAG_IN) &&
					  oq_qual_is_index_usable(qual))))
			result = lappend(result, rinfo);
	}

	if (baserel->has_eclass_joins && (roles->tags || roles->id))
	{
		List	   *ec_clauses;

		cxt.roles = roles;
		ec_clauses = generate_implied_equalities_for_column(root, baserel,
															ec_member_is_lookup_key,
															&cxt,
															baserel->lateral_referencers);
		foreach(lc, ec_clauses)
		{
			RestrictInfo *rinfo = (RestrictInfo *) lfirst(lc);

			if (oq_recognize_clause(root, baserel, roles, rinfo) != NULL)
				result = lappend(result, rinfo);
		}
	}
	return result;
}

List *
oq_quals_serialize(List *quals, List **fdw_exprs)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, quals)
	{
		OqQual	   *qual = (OqQual *) lfirst(lc);
		int			arg_index = -1;

		if (qual->arg)
		{
			arg_index = list_length(*fdw_exprs);
			*fdw_exprs = lappend(*fdw_exprs, qual->arg);
		}
		/* "" is a valid key: whether there is one travels separately */
		result = lappend(result, list_make4(makeInteger(qual->kind),
											makeString(pstrdup(qual->key ? qual->key : "")),
											makeInteger(qual->key != NULL),
											makeInteger(arg_index)));
	}
	return result;
}

List *
oq_quals_deserialize(List *serialized)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, serialized)
	{
		List	   *item = (List *) lfirst(lc);
		OqQualDesc *desc = palloc(sizeof(OqQualDesc));

		desc->kind = (OqQualKind) intVal(linitial(item));
		desc->key = intVal(lthird(item)) ? strVal(lsecond(item)) : NULL;
		desc->arg_index = intVal(lfourth(item));

		/* each kind has its key or its value; a plan without is corrupt */
		if ((desc->kind == OQ_QUAL_TAG_EQ || desc->kind == OQ_QUAL_TAG_IN ||
			 desc->kind == OQ_QUAL_TAG_NOT_NULL) && desc->key == NULL)
			elog(ERROR, "pushed-down tag clause of kind %d has no key",
				 (int) desc->kind);
		if (desc->kind != OQ_QUAL_TAG_NOT_NULL &&
			!(desc->kind == OQ_QUAL_TAG_EXISTS && desc->key != NULL) &&
			desc->arg_index < 0)
			elog(ERROR, "pushed-down clause of kind %d has no value",
				 (int) desc->kind);
		result = lappend(result, desc);
	}
	return result;
}
